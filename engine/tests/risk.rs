//! The risk engine through the real core: the circuit breaker trips on a drawdown and on a
//! losing streak, refuses entries while exits still fill, and resets by its policy; the
//! pre-trade limits refuse entries by name.

mod common;

use tape_engine::core::{Core, CoreConfig, Input};
use tape_engine::event::{
    Bar, Event, EventBody, Reason, RuleId, RuleSpec, Side, SymbolId, TimeInForce, Unit,
};
use tape_engine::execution::{CostModel, FillTiming, OrderKind};
use tape_engine::fixed::{Money, Price, Quantity};
use tape_engine::ledger::frame::decode_event;
use tape_engine::market::MarketView;
use tape_engine::risk::{BreakerReset, RiskLimits};
use tape_engine::rules;
use tape_engine::strategy::{Decisions, OrderRequest, Strategy};
use tape_engine::time::Ts;

const SCRIPTED: RuleSpec = RuleSpec {
    id: RuleId::strategy(0),
    name: "scripted",
    summary: "Test strategy: the order its script gives for the slice.",
    fields: &[("slice", Unit::Int)],
};

const DAY: i64 = 86_400_000_000_000;

/// Market orders from a script: `(slice, symbol, side, units)`.
struct Scripted {
    script: Vec<(usize, u32, Side, i64)>,
    slice: usize,
}

impl Strategy for Scripted {
    fn rules(&self) -> &'static [RuleSpec] {
        std::slice::from_ref(&SCRIPTED)
    }

    fn on_slice(&mut self, _: &MarketView<'_>, out: &mut Decisions) {
        for &(at, symbol, side, units) in &self.script {
            if at == self.slice {
                let request = OrderRequest {
                    symbol: SymbolId(symbol),
                    side,
                    quantity: Quantity::from_units(units).expect("small"),
                    kind: OrderKind::Market,
                    time_in_force: TimeInForce::Gtc,
                };
                let reason = Reason::new(
                    SCRIPTED.id,
                    &[tape_engine::event::ReasonValue::Int(at as i64)],
                );
                out.order(request, reason, None);
            }
        }
        self.slice += 1;
    }
}

/// Runs daily slices (one per day); at slice `i` symbol `s` has a flat bar at `prices[i][s]`.
fn run(prices: &[Vec<f64>], script: Vec<(usize, u32, Side, i64)>, risk: RiskLimits) -> Vec<Event> {
    run_with(prices, script, risk, |core| core)
}

/// [`run`], with the core adjusted by `setup` (instrument rules, say).
fn run_with(
    prices: &[Vec<f64>],
    script: Vec<(usize, u32, Side, i64)>,
    risk: RiskLimits,
    setup: impl FnOnce(Core) -> Core,
) -> Vec<Event> {
    let config = CoreConfig {
        initial_cash: Money::from_units(10_000).expect("fits"),
        costs: CostModel::default(),
        snapshot_every: 1,
        fill_timing: FillTiming::NextBarOpen,
        participation_ppm: 0,
        tick_size: None,
        lot_size: None,
        risk,
        latency_bars: 0,
        latency_ns: 0,
    };
    let symbols = prices[0].len();
    let strategy = Scripted { script, slice: 0 };
    let mut core = setup(Core::new(0, [0; 32], config, symbols, Box::new(strategy)));
    core.start(Ts(0)).expect("starts");
    for (i, row) in prices.iter().enumerate() {
        for (s, &p) in row.iter().enumerate() {
            let p = Price::from_f64(p).expect("positive");
            let bar = Bar::new(
                SymbolId(s as u32),
                p,
                p,
                p,
                p,
                Quantity::from_units(1_000_000).expect("fits"),
            )
            .expect("flat");
            core.step(Input::Bar {
                ts: Ts((i as i64 + 1) * DAY),
                bar,
            })
            .expect("in order");
        }
    }
    core.finish().expect("finishes");
    let frames = std::mem::take(core.output());
    common::split_frames(&frames)
        .into_iter()
        .map(|f| decode_event(f).expect("decodes"))
        .collect()
}

/// The slice index (day - 1) of each event of a kind, with its body.
fn at_days<'a>(
    events: &'a [Event],
    pick: impl Fn(&EventBody) -> bool + 'a,
) -> Vec<(i64, &'a EventBody)> {
    events
        .iter()
        .filter(|e| pick(&e.body))
        .map(|e| (e.ts.0 / DAY - 1, &e.body))
        .collect()
}

fn rejected_by(events: &[Event]) -> Vec<(i64, RuleId)> {
    at_days(events, |b| matches!(b, EventBody::OrderRejected(_)))
        .into_iter()
        .map(|(d, b)| match b {
            EventBody::OrderRejected(r) => (d, r.reason.rule),
            _ => unreachable!(),
        })
        .collect()
}

#[test]
fn losing_exits_in_a_row_trip_it_entries_are_refused_exits_fill_and_it_resets() {
    // Buy at 100, sell at 99, three times: three losing exits. Then, tripped: a buy is
    // refused, while a sell that closes a position opened before the trip fills. Five slices
    // after the trip it resets, and a buy passes again.
    let mut prices = Vec::new();
    for _ in 0..3 {
        prices.push(vec![100.0]);
        prices.push(vec![100.0]);
        prices.push(vec![99.0]);
    }
    prices.extend(std::iter::repeat_n(vec![99.0], 12));
    let mut script = Vec::new();
    for k in 0..3 {
        // Decided at slice 3k (close 100), filled at 3k+1's open 100; sold at 3k+1's close,
        // filled at 3k+2's open 99: a loss of 10.
        script.push((3 * k, 0, Side::Buy, 10));
        script.push((3 * k + 1, 0, Side::Sell, 10));
    }
    // A position opened at slice 7 (filled at 8) before the trip at the close of slice 8.
    script.push((7, 0, Side::Buy, 5));
    script.push((9, 0, Side::Buy, 5)); // an entry while tripped: refused
    script.push((10, 0, Side::Sell, 5)); // an exit while tripped: fills
    script.push((14, 0, Side::Buy, 5)); // after the reset at slice 13: passes
    let risk = RiskLimits {
        breaker_losses: Some(3),
        breaker_reset: BreakerReset::AfterSlices(5),
        ..RiskLimits::default()
    };
    let events = run(&prices, script, risk);
    let tripped = at_days(&events, |b| {
        matches!(b, EventBody::CircuitBreakerTripped(_))
    });
    assert_eq!(tripped.len(), 1, "{tripped:?}");
    assert_eq!(tripped[0].0, 8, "the third loss fills at slice 8");
    let EventBody::CircuitBreakerTripped(t) = tripped[0].1 else {
        unreachable!()
    };
    assert_eq!(t.reason.rule, rules::BREAKER_LOSSES.id);
    assert_eq!(t.reason.raw_values(), [3, 3]);
    // The trip names the losing fill that completed the streak.
    let trip = events
        .iter()
        .find(|e| matches!(e.body, EventBody::CircuitBreakerTripped(_)))
        .expect("tripped");
    let cause = trip.causes.as_slice()[0];
    assert!(matches!(
        events[cause.0 as usize].body,
        EventBody::OrderFilled(_)
    ));

    assert_eq!(rejected_by(&events), [(9, rules::BREAKER_OPEN.id)]);
    let sells_filled_while_tripped = at_days(
        &events,
        |b| matches!(b, EventBody::OrderFilled(f) if f.side == Side::Sell),
    )
    .into_iter()
    .filter(|(d, _)| (9..13).contains(d))
    .count();
    assert_eq!(sells_filled_while_tripped, 1, "the exit filled");
    let reset = at_days(&events, |b| matches!(b, EventBody::CircuitBreakerReset(_)));
    assert_eq!(reset.len(), 1);
    assert_eq!(
        reset[0].0, 13,
        "five slices after the trip, before that slice's decisions"
    );
    let buys_after = at_days(
        &events,
        |b| matches!(b, EventBody::OrderSubmitted(o) if o.side == Side::Buy),
    )
    .into_iter()
    .filter(|(d, _)| *d >= 14)
    .count();
    assert_eq!(buys_after, 1);
}

#[test]
fn a_drawdown_trips_it_and_a_new_day_resets_it() {
    // Long 50 units at 100 on 10,000 cash; the price falls to 78: equity 5,000 + 3,900 =
    // 8,900, 11% down from the 10,000 peak, past the 10% threshold.
    let prices: Vec<Vec<f64>> = [100.0, 100.0, 90.0, 78.0, 78.0, 78.0]
        .iter()
        .map(|&p| vec![p])
        .collect();
    let risk = RiskLimits {
        breaker_drawdown_ppm: Some(100_000),
        breaker_reset: BreakerReset::NewDay,
        ..RiskLimits::default()
    };
    let script = vec![
        (0, 0, Side::Buy, 50),
        (3, 0, Side::Buy, 1),
        (4, 0, Side::Buy, 1),
    ];
    let events = run(&prices, script, risk);
    let tripped = at_days(&events, |b| {
        matches!(b, EventBody::CircuitBreakerTripped(_))
    });
    assert_eq!(tripped.len(), 1);
    assert_eq!(tripped[0].0, 3, "at the close of the slice that fell to 78");
    let EventBody::CircuitBreakerTripped(t) = tripped[0].1 else {
        unreachable!()
    };
    assert_eq!(t.reason.rule, rules::BREAKER_DRAWDOWN.id);
    let peak = Money::from_units(10_000).expect("fits").raw();
    let equity = Money::from_units(8_900).expect("fits").raw();
    assert_eq!(t.reason.raw_values()[..2], [peak, equity]);
    // The trip comes after its slice's decisions (the buy at slice 3 was already placed);
    // one bar a day, so the next slice is a new day and it resets before that slice's
    // decisions: the buy at slice 4 passes too.
    let reset = at_days(&events, |b| matches!(b, EventBody::CircuitBreakerReset(_)));
    assert_eq!(reset.first().map(|r| r.0), Some(4));
    assert!(
        rejected_by(&events).is_empty(),
        "{:?}",
        rejected_by(&events)
    );
}

#[test]
fn pre_trade_limits_refuse_entries_by_name_and_let_exits_through() {
    // Two symbols at 100; equity 10,000.
    let prices: Vec<Vec<f64>> = (0..8).map(|_| vec![100.0, 100.0]).collect();
    let script = vec![
        (0, 0, Side::Buy, 30),  // 3,000: passes (cap 40%)
        (1, 0, Side::Buy, 20),  // 5,000 on symbol 0: over the 40% position cap
        (2, 1, Side::Buy, 10),  // a second position: over max_open_positions = 1
        (3, 0, Side::Sell, 30), // an exit: passes
        (5, 1, Side::Buy, 30),  // now symbol 1 alone: passes
        (6, 1, Side::Sell, 60), // a flip to −30: no further from zero, so not an entry
    ];
    let risk = RiskLimits {
        max_open_positions: Some(1),
        max_position_ppm: Some(400_000),
        ..RiskLimits::default()
    };
    let events = run(&prices, script, risk);
    assert_eq!(
        rejected_by(&events),
        [
            (1, rules::POSITION_CAP.id),
            (2, rules::MAX_OPEN_POSITIONS.id)
        ]
    );
    let gross = RiskLimits {
        max_gross_ppm: Some(500_000),
        ..RiskLimits::default()
    };
    let script = vec![
        (0, 0, Side::Buy, 30),
        (1, 1, Side::Buy, 30),
        (2, 1, Side::Buy, 10),
    ];
    let events = run(&prices, script, gross);
    assert_eq!(rejected_by(&events), [(1, rules::GROSS_EXPOSURE_CAP.id)]);
    let halt = RiskLimits {
        drawdown_halt_ppm: Some(50_000),
        ..RiskLimits::default()
    };
    let falling: Vec<Vec<f64>> = [100.0, 100.0, 80.0, 80.0, 80.0]
        .iter()
        .map(|&p| vec![p, 100.0])
        .collect();
    let script = vec![
        (0, 0, Side::Buy, 50),
        (2, 1, Side::Buy, 1),
        (3, 0, Side::Sell, 50),
    ];
    let events = run(&falling, script, halt);
    assert_eq!(rejected_by(&events), [(2, rules::DRAWDOWN_HALT.id)]);
}

#[test]
fn instrument_rules_refuse_shorts_small_orders_and_off_lot_quantities() {
    use tape_engine::core::InstrumentRules;
    let prices: Vec<Vec<f64>> = (0..6).map(|_| vec![100.0, 100.0]).collect();
    let script = vec![
        (0, 0, Side::Sell, 5),  // no position: a short in a not-shortable symbol
        (1, 0, Side::Buy, 10),  // passes
        (2, 0, Side::Sell, 10), // closes it: passes
        (3, 1, Side::Buy, 5),   // 500 < the 600 minimum
        (4, 1, Side::Buy, 7),   // not a multiple of the lot of 5
    ];
    let events = run_with(&prices, script, RiskLimits::default(), |core| {
        core.with_instrument(
            SymbolId(0),
            InstrumentRules {
                not_shortable: true,
                ..InstrumentRules::default()
            },
        )
        .with_instrument(
            SymbolId(1),
            InstrumentRules {
                min_notional: Some(Money::from_units(600).expect("fits")),
                lot_size: Some(Quantity::from_units(5).expect("fits")),
                ..InstrumentRules::default()
            },
        )
    });
    assert_eq!(
        rejected_by(&events),
        [
            (0, rules::NOT_SHORTABLE.id),
            (3, rules::MIN_NOTIONAL.id),
            (4, rules::OFF_LOT_GRID.id)
        ]
    );
}

#[test]
fn a_margin_call_closes_the_largest_position_first_until_the_rest_is_covered() {
    // 10,000 cash; short 100 of symbol 0 and 20 of symbol 1 at 100 (cash 22,000). Symbol 0
    // rises to 150: equity 22,000 − 15,000 − 2,000 = 5,000, gross 17,000, and a 40%
    // maintenance needs 6,800: the 15,000 short of symbol 0 is bought back first, leaving
    // 2,000 gross that 5,000 covers, so symbol 1 stays.
    let mut prices: Vec<Vec<f64>> = vec![vec![100.0, 100.0]; 2];
    prices.extend(vec![vec![150.0, 100.0]; 4]);
    let script = vec![(0, 0, Side::Sell, 100), (0, 1, Side::Sell, 20)];
    let events = run_with(&prices, script, RiskLimits::default(), |core| {
        core.with_maintenance_margin(400_000)
    });
    let calls: Vec<(i64, u32, Side)> = at_days(
        &events,
        |b| matches!(b, EventBody::OrderSubmitted(o) if o.reason.rule == rules::MARGIN_CALL.id),
    )
    .into_iter()
    .map(|(d, b)| match b {
        EventBody::OrderSubmitted(o) => (d, o.symbol.0, o.side),
        _ => unreachable!(),
    })
    .collect();
    assert_eq!(
        calls,
        [(2, 0, Side::Buy)],
        "one call, for the largest position"
    );
    let EventBody::OrderSubmitted(call) = at_days(
        &events,
        |b| matches!(b, EventBody::OrderSubmitted(o) if o.reason.rule == rules::MARGIN_CALL.id),
    )[0]
    .1
    else {
        unreachable!()
    };
    let money = |v: i64| Money::from_units(v).expect("fits").raw();
    assert_eq!(
        call.reason.raw_values(),
        [money(5_000), money(6_800), money(17_000)]
    );
    // It fills at the next open, and no second call follows for the same position.
    let filled = at_days(
        &events,
        |b| matches!(b, EventBody::OrderFilled(f) if f.order.0 == 2),
    );
    assert_eq!(filled.len(), 1);
    assert_eq!(filled[0].0, 3);
}

/// Tags its orders with the slice number as the cycle and, from slice 2 on, cancels the orders
/// of earlier cycles still working.
struct Cycles {
    slice: u32,
}

impl Strategy for Cycles {
    fn rules(&self) -> &'static [RuleSpec] {
        std::slice::from_ref(&SCRIPTED)
    }

    fn on_slice(&mut self, _: &MarketView<'_>, out: &mut Decisions) {
        let reason = Reason::new(
            SCRIPTED.id,
            &[tape_engine::event::ReasonValue::Int(i64::from(self.slice))],
        );
        if self.slice >= 2 {
            out.cancel_before_cycle(self.slice, reason);
        }
        out.set_cycle(self.slice);
        // A buy limit far below the market: it never fills, so it goes stale.
        let request = OrderRequest {
            symbol: SymbolId(0),
            side: Side::Buy,
            quantity: Quantity::from_units(1).expect("small"),
            kind: OrderKind::Limit {
                limit: Price::from_f64(50.0).expect("positive"),
            },
            time_in_force: TimeInForce::Gtc,
        };
        out.order(request, reason, None);
        self.slice += 1;
    }
}

#[test]
fn orders_of_earlier_cycles_are_cancelled_by_tag() {
    let config = CoreConfig {
        initial_cash: Money::from_units(10_000).expect("fits"),
        costs: CostModel::default(),
        snapshot_every: 1,
        fill_timing: FillTiming::NextBarOpen,
        participation_ppm: 0,
        tick_size: None,
        lot_size: None,
        risk: RiskLimits::default(),
        latency_bars: 0,
        latency_ns: 0,
    };
    let mut core = Core::new(0, [0; 32], config, 1, Box::new(Cycles { slice: 0 }));
    core.start(Ts(0)).expect("starts");
    for i in 1..=4 {
        let p = Price::from_f64(100.0).expect("positive");
        let bar = Bar::new(
            SymbolId(0),
            p,
            p,
            p,
            p,
            Quantity::from_units(10).expect("fits"),
        )
        .expect("flat");
        core.step(Input::Bar {
            ts: Ts(i * DAY),
            bar,
        })
        .expect("in order");
    }
    core.finish().expect("finishes");
    let events: Vec<Event> = common::split_frames(&std::mem::take(core.output()))
        .into_iter()
        .map(|f| decode_event(f).expect("decodes"))
        .collect();
    // Slice 2 cancels cycles 0 and 1; slice 3 cancels cycle 2; cycle 3's order is left to the
    // run's end.
    let cancelled: Vec<(i64, u64)> =
        at_days(&events, |b| matches!(b, EventBody::OrderCancelled(_)))
            .into_iter()
            .map(|(d, b)| match b {
                EventBody::OrderCancelled(c) => (d, c.order.0),
                _ => unreachable!(),
            })
            .collect();
    assert_eq!(cancelled, [(2, 0), (2, 1), (3, 2), (3, 3)]);
    let tagged: Vec<Option<u32>> = events
        .iter()
        .filter_map(|e| match &e.body {
            EventBody::OrderSubmitted(o) => Some(o.cycle),
            _ => None,
        })
        .collect();
    assert_eq!(tagged, [Some(0), Some(1), Some(2), Some(3)]);
}

#[test]
fn a_short_pays_its_borrow_fee_each_new_day() {
    // Short 100 at 100 (a value of 10,000) at a 3.65% annual fee: 1.00 a day, charged at the
    // first slice of each new day for the days since the last.
    let prices: Vec<Vec<f64>> = vec![vec![100.0]; 4];
    let events = run_with(
        &prices,
        vec![(0, 0, Side::Sell, 100)],
        RiskLimits::default(),
        |core| core.with_borrow_fee(36_500),
    );
    let charged: Vec<(i64, i64)> = at_days(&events, |b| matches!(b, EventBody::BorrowCharged(_)))
        .into_iter()
        .map(|(d, b)| match b {
            EventBody::BorrowCharged(c) => (d, c.amount.raw()),
            _ => unreachable!(),
        })
        .collect();
    let one = Money::from_units(1).expect("fits").raw();
    // Filled at day 1's open: the shorts held at each later day's first slice pay for the
    // days since the last charge — days 1, 2 and 3, a day each.
    assert_eq!(charged, [(1, one), (2, one), (3, one)]);
    let last = events
        .iter()
        .rev()
        .find_map(|e| match &e.body {
            EventBody::PortfolioSnapshot(p) => Some(*p),
            _ => None,
        })
        .expect("a snapshot");
    assert_eq!(
        last.fees,
        Money::from_units(3).expect("fits"),
        "fees include the borrow"
    );
    assert_eq!(last.cash, Money::from_units(19_997).expect("fits"));
}

#[test]
fn a_margin_account_lends_against_equity_up_to_its_initial_margin() {
    // 10,000 of equity at a 50% initial margin buys up to 20,000 of exposure.
    let prices: Vec<Vec<f64>> = vec![vec![100.0]; 4];
    let script = vec![(0, 0, Side::Buy, 150), (2, 0, Side::Buy, 60)];
    let margin = run_with(&prices, script.clone(), RiskLimits::default(), |core| {
        core.with_initial_margin(500_000)
    });
    // 15,000 needs 7,500: bought on credit. 21,000 would need 10,500: refused.
    assert_eq!(rejected_by(&margin), [(2, rules::INITIAL_MARGIN.id)]);
    let cash = margin
        .iter()
        .rev()
        .find_map(|e| match &e.body {
            EventBody::PortfolioSnapshot(p) => Some(p.cash),
            _ => None,
        })
        .expect("a snapshot");
    assert_eq!(
        cash,
        Money::from_units(-5_000).expect("fits"),
        "a debit balance"
    );
    // A cash account refuses the first buy (15,000 > 10,000 of cash); the second it can pay.
    let cash_account = run(&prices, script, RiskLimits::default());
    assert_eq!(
        rejected_by(&cash_account),
        [(0, rules::INSUFFICIENT_CASH.id)]
    );
}
