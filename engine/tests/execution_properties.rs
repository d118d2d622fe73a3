//! The execution simulator under random bars and random order streams, through the real
//! core: no fill outside its bar, fees never negative, every order accounted for to the
//! unit, the accounting identity at every slice (the core checks it and would stop), and the
//! same inputs giving the same bytes.

mod common;

use std::collections::BTreeMap;

use proptest::prelude::*;
use tape_engine::core::{Core, CoreConfig, Input};
use tape_engine::event::{
    Bar, EventBody, OrderId, Reason, RuleId, RuleSpec, Side, SymbolId, TimeInForce, Trail, Unit,
};
use tape_engine::execution::{Bracket, CostModel, FillTiming, OrderKind};
use tape_engine::fixed::{Money, Price, Quantity};
use tape_engine::ledger::frame::decode_event;
use tape_engine::market::MarketView;
use tape_engine::risk::RiskLimits;
use tape_engine::strategy::{Decisions, OrderRequest, Strategy};
use tape_engine::time::{Ts, NANOS_PER_MINUTE};

use common::{split_frames, XorShift};

const TICK: i64 = 1_000_000; // 0.01 in raw price units

const RANDOM_ORDER: RuleSpec = RuleSpec {
    id: RuleId::strategy(0),
    name: "random_order",
    summary: "Test strategy: a random order or cancel.",
    fields: &[("draw", Unit::Int)],
};

/// Places random orders of every kind and time in force, now and then off the tick grid,
/// and cancels random working orders.
struct RandomOrders {
    rng: XorShift,
}

impl Strategy for RandomOrders {
    fn rules(&self) -> &'static [RuleSpec] {
        std::slice::from_ref(&RANDOM_ORDER)
    }

    fn on_slice(&mut self, view: &MarketView<'_>, out: &mut Decisions) {
        for &symbol in view.updated() {
            let draw = self.rng.next_u64();
            let reason = Reason::new(
                RANDOM_ORDER.id,
                &[tape_engine::event::ReasonValue::Int(draw as i64 & 0xFFFF)],
            );
            let close = view.latest(symbol).expect("updated").close.raw();
            if draw.is_multiple_of(5) {
                if let Some(w) = view.working_orders(symbol).first() {
                    out.cancel(symbol, w.order, reason);
                }
                continue;
            }
            if draw % 7 == 1 {
                // Amend the last working order: a new stop or limit (sometimes the wrong one
                // for its kind, sometimes off the grid), now and then a new quantity.
                if let Some(w) = view.working_orders(symbol).last() {
                    let price = Price::from_raw((close / TICK).max(2) * TICK + (draw % 3) as i64)
                        .expect("positive");
                    let (limit, stop) = if draw.is_multiple_of(2) {
                        (Some(price), None)
                    } else {
                        (None, Some(price))
                    };
                    let quantity =
                        (draw % 11 == 1).then(|| Quantity::from_units(5).expect("small"));
                    out.amend(symbol, w.order, quantity, limit, stop, reason);
                }
                continue;
            }
            // Levels a few ticks around the close; one in eight is off the grid.
            let level = |rng: &mut XorShift| {
                let ticks = rng.below(41) as i64 - 20;
                let off = if rng.below(8) == 0 { 1 } else { 0 };
                Price::from_raw((close / TICK + ticks).max(1) * TICK + off).expect("positive")
            };
            let kind = match self.rng.below(6) {
                0 => OrderKind::Market,
                1 => OrderKind::Limit {
                    limit: level(&mut self.rng),
                },
                2 => OrderKind::Stop {
                    stop: level(&mut self.rng),
                },
                3 => OrderKind::StopLimit {
                    stop: level(&mut self.rng),
                    limit: level(&mut self.rng),
                },
                4 => OrderKind::TrailingStop {
                    trail: if self.rng.below(2) == 0 {
                        Trail::Price(
                            Price::from_raw(TICK * (1 + self.rng.below(30) as i64))
                                .expect("positive"),
                        )
                    } else {
                        Trail::Ppm(1 + self.rng.below(100_000) as u32)
                    },
                    stop: level(&mut self.rng),
                },
                _ => OrderKind::Market,
            };
            let time_in_force = match self.rng.below(4) {
                0 => TimeInForce::Gtc,
                1 => TimeInForce::Day,
                2 => TimeInForce::Ioc,
                _ => TimeInForce::GoodForBars(1 + self.rng.below(5) as u32),
            };
            let side = if self.rng.below(2) == 0 {
                Side::Buy
            } else {
                Side::Sell
            };
            let units = self.rng.below(60) as i64;
            let request = OrderRequest {
                symbol,
                side,
                quantity: Quantity::from_units(units).expect("small"),
                kind,
                time_in_force,
            };
            if self.rng.below(4) == 0 {
                // A bracket around the close (sometimes on the wrong sides: refused).
                let (a, b) = (level(&mut self.rng), level(&mut self.rng));
                let trail = (self.rng.below(2) == 0).then_some(Trail::Ppm(20_000));
                let exits = Bracket {
                    take_profit: a,
                    stop_loss: b,
                    trail,
                };
                out.bracket(request, exits, reason, None);
            } else {
                out.order(request, reason, None);
            }
        }
    }
}

/// Minute bars for `symbols` symbols over several days (a day is 90 minutes here), prices on
/// the tick grid, random volume, now and then a missing bar.
fn bars(seed: u64, symbols: u32, count: usize) -> Vec<(Ts, Bar)> {
    let mut rng = XorShift::new(seed);
    let mut last = vec![100 * 100i64; symbols as usize]; // in ticks
    let mut out = Vec::new();
    for i in 0..count as i64 {
        let ts = Ts(1_700_000_000_000_000_000
            + (i / 90) * 86_400_000_000_000
            + (i % 90 + 1) * NANOS_PER_MINUTE);
        for s in 0..symbols {
            if rng.below(10) == 0 {
                continue;
            }
            let p = &mut last[s as usize];
            let open = (*p + rng.below(41) as i64 - 20).max(50);
            let close = (open + rng.below(41) as i64 - 20).max(50);
            let high = open.max(close) + rng.below(15) as i64;
            let low = (open.min(close) - rng.below(15) as i64).max(1);
            *p = close;
            let px = |t: i64| Price::from_raw(t * TICK).expect("positive");
            let volume = Quantity::from_units(rng.below(2_000) as i64).expect("small");
            let bar = Bar::new(SymbolId(s), px(open), px(high), px(low), px(close), volume)
                .expect("consistent");
            out.push((ts, bar));
        }
    }
    out
}

fn run(
    seed: u64,
    symbols: u32,
    count: usize,
    participation_ppm: u32,
    slippage_bps: i64,
    rich_costs: bool,
    latency_bars: u32,
) -> Vec<u8> {
    let config = CoreConfig {
        initial_cash: Money::from_units(1_000_000).expect("fits"),
        costs: CostModel {
            slippage_bps,
            fee_bps: 3,
            ..if rich_costs {
                rich()
            } else {
                CostModel::default()
            }
        },
        snapshot_every: 1,
        fill_timing: FillTiming::NextBarOpen,
        participation_ppm,
        tick_size: Some(Price::from_raw(TICK).expect("positive")),
        lot_size: None,
        risk: RiskLimits::default(),
        latency_bars,
        latency_ns: 0,
    };
    let strategy = RandomOrders {
        rng: XorShift::new(seed ^ 0xA5A5),
    };
    let mut core = Core::new(1, [0; 32], config, symbols as usize, Box::new(strategy));
    core.start(Ts(1_700_000_000_000_000_000)).expect("starts");
    for (ts, bar) in bars(seed, symbols, count) {
        core.step(Input::Bar { ts, bar })
            .expect("valid bars in order; the accounting identity holds at every slice");
    }
    core.finish().expect("finishes");
    std::mem::take(core.output())
}

/// Every cost term at once.
fn rich() -> CostModel {
    CostModel {
        half_spread_bps: 3,
        range_slippage_ppm: 50_000,
        impact_ppm: 200_000,
        fee_per_unit: Money::from_f64(0.01).expect("fits"),
        min_fee: Money::from_units(1).expect("fits"),
        ..CostModel::default()
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn random_order_streams_fill_inside_their_bars_and_account_for_every_unit(
        seed in any::<u64>(),
        symbols in 1u32..4,
        count in 20usize..300,
        participation_ppm in prop_oneof![Just(0u32), 10_000u32..500_000],
        slippage_bps in 0i64..50,
        rich_costs in any::<bool>(),
        latency_bars in 0u32..3,
    ) {
        let frames = run(seed, symbols, count, participation_ppm, slippage_bps, rich_costs, latency_bars);
        let events: Vec<_> = split_frames(&frames)
            .into_iter()
            .map(|f| decode_event(f).expect("decodes"))
            .collect();
        let by_seq: BTreeMap<u64, &EventBody> = events.iter().map(|e| (e.seq.0, &e.body)).collect();
        // Per order: (quantity, filled, cancelled remainder).
        let mut orders: BTreeMap<OrderId, (Quantity, Quantity, Option<Quantity>)> = BTreeMap::new();
        let mut kinds = std::collections::BTreeSet::new();
        let mut fees_by_order: BTreeMap<OrderId, Money> = BTreeMap::new();
        for e in &events {
            match &e.body {
                EventBody::OrderSubmitted(o) => {
                    kinds.insert(o.order_type.name());
                    prop_assert!(o.quantity.raw() > 0);
                    for p in [o.limit_price, o.stop_price].into_iter().flatten() {
                        prop_assert_eq!(p.raw() % TICK, 0, "an off-grid price was accepted");
                    }
                    orders.insert(o.order, (o.quantity, Quantity::ZERO, None));
                }
                EventBody::OrderFilled(f) => {
                    let bar_seq = e.causes.as_slice()[1].0;
                    let EventBody::Bar(bar) = by_seq[&bar_seq] else {
                        panic!("a fill's second cause is its bar");
                    };
                    prop_assert!(bar.low <= f.price && f.price <= bar.high, "fill {} outside [{}, {}]", f.price, bar.low, bar.high);
                    prop_assert!(f.fee >= Money::ZERO);
                    let paid = fees_by_order.entry(f.order).or_insert(Money::ZERO);
                    *paid = paid.checked_add(f.fee).expect("fits");
                    prop_assert!(f.quantity.raw() > 0);
                    if participation_ppm > 0 {
                        let cap = bar.volume.raw() as i128 * participation_ppm as i128 / 1_000_000;
                        prop_assert!(f.quantity.raw() as i128 <= cap);
                    }
                    let entry = orders.get_mut(&f.order).expect("filled after submitted");
                    entry.1 = entry.1.checked_add(f.quantity).expect("fits");
                    prop_assert_eq!(entry.0.checked_sub(entry.1).expect("fits"), f.remaining);
                }
                EventBody::OrderAmended(a) => {
                    // A linked order grew or shrank: its quantity is what it filled plus what is
                    // left now.
                    let entry = orders.get_mut(&a.order).expect("amended after submitted");
                    entry.0 = entry.1.checked_add(a.remaining).expect("fits");
                    if let Some(stop) = a.stop_price {
                        prop_assert_eq!(stop.raw() % TICK, 0, "a stop moved off the grid: {:?}", e);
                    }
                }
                EventBody::OrderCancelled(c) => {
                    let entry = orders.get_mut(&c.order).expect("cancelled after submitted");
                    prop_assert!(entry.2.is_none(), "cancelled twice");
                    entry.2 = Some(c.remaining);
                }
                // A rejection of a working order is a refused amend: the order stays.
                EventBody::OrderRejected(r) if orders.contains_key(&r.order) => {
                    let amend_rules = [
                        tape_engine::rules::INVALID_AMEND.id,
                        tape_engine::rules::OFF_TICK_GRID.id,
                        tape_engine::rules::OFF_LOT_GRID.id,
                    ];
                    prop_assert!(amend_rules.contains(&r.reason.rule), "{:?}", r);
                }
                _ => {}
            }
        }
        for (id, (quantity, filled, cancelled)) in &orders {
            let left = quantity.checked_sub(*filled).expect("fits");
            match cancelled {
                Some(rest) => prop_assert_eq!(*rest, left, "order {:?}", id),
                None => prop_assert!(left.is_zero(), "order {:?} neither filled nor cancelled", id),
            }
        }
        prop_assert!(kinds.len() >= 3 || count < 60, "kinds seen: {:?}", kinds);
        if rich_costs {
            // The minimum fee is per order: every order that filled paid at least it in all.
            for (order, paid) in &fees_by_order {
                prop_assert!(*paid >= rich().min_fee, "order {:?} paid {} in fees", order, paid);
            }
        }
        // Same inputs, same bytes.
        prop_assert!(
            run(seed, symbols, count, participation_ppm, slippage_bps, rich_costs, latency_bars)
                == frames
        );
    }
}
