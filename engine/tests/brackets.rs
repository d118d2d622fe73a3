//! Brackets through the real core: the entry's fill places both exits, one exit's fill takes
//! its quantity off the other and cancels it when nothing is left, a bracket with its exits on
//! the wrong sides is refused, and cancelling one exit cancels its sibling.

mod common;

use tape_engine::core::{Core, CoreConfig, Input};
use tape_engine::event::{
    Bar, Event, EventBody, Reason, RuleId, RuleSpec, Side, SymbolId, TimeInForce,
};
use tape_engine::execution::{Bracket, CostModel, FillTiming, OrderKind};
use tape_engine::fixed::{Money, Price, Quantity};
use tape_engine::ledger::frame::decode_event;
use tape_engine::market::MarketView;
use tape_engine::risk::RiskLimits;
use tape_engine::rules;
use tape_engine::strategy::{Decisions, OrderRequest, Strategy};
use tape_engine::time::Ts;

const PLAN: RuleSpec = RuleSpec {
    id: RuleId::strategy(0),
    name: "plan",
    summary: "Test strategy: a bracket at the first slice, then what the test asks.",
    fields: &[],
};

const DAY: i64 = 86_400_000_000_000;

fn px(v: f64) -> Price {
    Price::from_f64(v).expect("positive")
}

/// Places `bracket` at slice 0; cancels the first working order at slice `cancel_at`;
/// amends the stop-loss (the second working order) at `amend.0` to limit `amend.1` and stop
/// `amend.2`.
struct Plan {
    bracket: (f64, f64),
    cancel_at: Option<usize>,
    amend: Option<(usize, Option<f64>, Option<f64>)>,
    slice: usize,
}

impl Strategy for Plan {
    fn rules(&self) -> &'static [RuleSpec] {
        std::slice::from_ref(&PLAN)
    }

    fn on_slice(&mut self, view: &MarketView<'_>, out: &mut Decisions) {
        let reason = Reason::new(PLAN.id, &[]);
        if self.slice == 0 {
            let entry = OrderRequest {
                symbol: SymbolId(0),
                side: Side::Buy,
                quantity: Quantity::from_units(10).expect("small"),
                kind: OrderKind::Market,
                time_in_force: TimeInForce::Gtc,
            };
            let exits = Bracket {
                take_profit: px(self.bracket.0),
                stop_loss: px(self.bracket.1),
                trail: None,
            };
            out.bracket(entry, exits, reason, None);
        }
        if let Some((at, limit, stop)) = self.amend {
            if at == self.slice {
                if let Some(w) = view.working_orders(SymbolId(0)).get(1) {
                    out.amend(
                        SymbolId(0),
                        w.order,
                        None,
                        limit.map(px),
                        stop.map(px),
                        reason,
                    );
                }
            }
        }
        if Some(self.slice) == self.cancel_at {
            if let Some(w) = view.working_orders(SymbolId(0)).first() {
                out.cancel(SymbolId(0), w.order, reason);
            }
        }
        self.slice += 1;
    }
}

/// Daily bars `(open, high, low, close)`, each of volume 1,000; `participation_ppm` caps fills.
fn run(bars: &[(f64, f64, f64, f64)], plan: Plan, participation_ppm: u32) -> Vec<Event> {
    run_with_risk(bars, plan, participation_ppm, RiskLimits::default())
}

/// [`run`] with risk limits.
fn run_with_risk(
    bars: &[(f64, f64, f64, f64)],
    plan: Plan,
    participation_ppm: u32,
    risk: RiskLimits,
) -> Vec<Event> {
    let config = CoreConfig {
        initial_cash: Money::from_units(10_000).expect("fits"),
        costs: CostModel::default(),
        snapshot_every: 1,
        fill_timing: FillTiming::NextBarOpen,
        participation_ppm,
        tick_size: None,
        lot_size: None,
        risk,
        latency_bars: 0,
        latency_ns: 0,
    };
    let mut core = Core::new(0, [0; 32], config, 1, Box::new(plan));
    core.start(Ts(0)).expect("starts");
    for (i, &(o, h, l, c)) in bars.iter().enumerate() {
        let bar = Bar::new(
            SymbolId(0),
            px(o),
            px(h),
            px(l),
            px(c),
            Quantity::from_units(1_000).expect("fits"),
        )
        .expect("consistent");
        core.step(Input::Bar {
            ts: Ts((i as i64 + 1) * DAY),
            bar,
        })
        .expect("in order");
    }
    core.finish().expect("finishes");
    let frames = std::mem::take(core.output());
    common::split_frames(&frames)
        .into_iter()
        .map(|f| decode_event(f).expect("decodes"))
        .collect()
}

/// (day, order, what) for the order events of a run.
fn story(events: &[Event]) -> Vec<(i64, u64, String)> {
    events
        .iter()
        .filter_map(|e| {
            let day = e.ts.0 / DAY - 1;
            let (order, what) = match &e.body {
                EventBody::OrderSubmitted(o) => {
                    (o.order, format!("submitted {}", o.order_type.name()))
                }
                EventBody::OrderFilled(f) => {
                    (f.order, format!("filled {} at {}", f.quantity, f.price))
                }
                EventBody::OrderAmended(a) => (a.order, format!("amended to {}", a.remaining)),
                EventBody::OrderCancelled(c) => (c.order, format!("cancelled {}", c.remaining)),
                EventBody::OrderRejected(r) => (r.order, format!("rejected {}", r.reason.rule.0)),
                _ => return None,
            };
            Some((day, order.0, what))
        })
        .collect()
}

fn line(day: i64, order: u64, what: &str) -> (i64, u64, String) {
    (day, order, what.to_string())
}

#[test]
fn the_take_profit_fill_cancels_the_stop_loss() {
    let bars = [
        (100.0, 100.0, 100.0, 100.0), // decide: buy 10, take profit 105, stop loss 95
        (100.0, 101.0, 99.0, 100.0),  // entry fills at 100: both exits placed
        (101.0, 106.0, 100.5, 105.5), // up to 106: the take-profit fills at 105
        (104.0, 104.0, 90.0, 91.0),   // would have hit the stop: it is gone
    ];
    let plan = Plan {
        bracket: (105.0, 95.0),
        cancel_at: None,
        amend: None,
        slice: 0,
    };
    let events = run(&bars, plan, 0);
    assert_eq!(
        story(&events),
        [
            line(0, 0, "submitted market"),
            line(1, 0, "filled 10.00 at 100.00"),
            line(1, 1, "submitted limit"),
            line(1, 2, "submitted stop"),
            line(2, 1, "filled 10.00 at 105.00"),
            line(2, 2, "cancelled 10.00"),
        ]
    );
    let cancel = events
        .iter()
        .find_map(|e| match &e.body {
            EventBody::OrderCancelled(c) => Some(c.reason),
            _ => None,
        })
        .expect("cancelled");
    assert_eq!(cancel.rule, rules::OCO_FILLED.id);
    assert_eq!(cancel.raw_values(), [1]);
}

#[test]
fn a_partial_exit_shrinks_its_sibling_and_a_gap_fills_the_stop_at_the_open() {
    // 0.5% of 1,000 = 5 units a bar: the entry fills in two parts, the exits grow with it,
    // then the stop-loss is gapped through and fills 5 at the open, shrinking the take-profit,
    // then the rest.
    let bars = [
        (100.0, 100.0, 100.0, 100.0),
        (100.0, 101.0, 99.0, 100.0), // entry 5 at 100: exits placed for 5
        (100.0, 101.0, 99.0, 100.0), // entry 5 more: exits grow to 10
        (90.0, 92.0, 89.0, 91.0),    // gapped under the 95 stop: 5 fill at the open, 90
        (91.0, 92.0, 90.0, 91.0),    // the stop's last 5 at 91; the take-profit goes
    ];
    let plan = Plan {
        bracket: (105.0, 95.0),
        cancel_at: None,
        amend: None,
        slice: 0,
    };
    let events = run(&bars, plan, 5_000);
    assert_eq!(
        story(&events),
        [
            line(0, 0, "submitted market"),
            line(1, 0, "filled 5.00 at 100.00"),
            line(1, 1, "submitted limit"),
            line(1, 2, "submitted stop"),
            line(2, 0, "filled 5.00 at 100.00"),
            line(2, 1, "amended to 10.00"),
            line(2, 2, "amended to 10.00"),
            line(3, 2, "filled 5.00 at 90.00"),
            line(3, 1, "amended to 5.00"),
            line(4, 2, "filled 5.00 at 91.00"),
            line(4, 1, "cancelled 5.00"),
        ]
    );
}

#[test]
fn exits_on_the_wrong_sides_are_refused_and_cancelling_one_exit_cancels_both() {
    let flat = [(100.0, 100.0, 100.0, 100.0); 4];
    let wrong = Plan {
        bracket: (95.0, 105.0),
        cancel_at: None,
        amend: None,
        slice: 0,
    };
    let events = run(&flat, wrong, 0);
    assert_eq!(
        story(&events),
        [line(
            0,
            0,
            &format!("rejected {}", rules::INVALID_BRACKET.id.0)
        )]
    );
    let cancel = Plan {
        bracket: (105.0, 95.0),
        cancel_at: Some(2),
        amend: None,
        slice: 0,
    };
    let events = run(&flat, cancel, 0);
    let cancelled: Vec<u64> = story(&events)
        .into_iter()
        .filter(|(_, _, what)| what.starts_with("cancelled"))
        .map(|(_, order, _)| order)
        .collect();
    assert_eq!(
        cancelled,
        [1, 2],
        "the take-profit and, with it, the stop-loss"
    );
}

#[test]
fn a_stop_loss_amended_to_break_even_then_fills_there_and_a_bad_amend_is_refused() {
    let bars = [
        (100.0, 100.0, 100.0, 100.0), // decide the bracket
        (100.0, 101.0, 99.0, 100.0),  // entry fills at 100
        (101.0, 103.0, 100.5, 102.0), // up: move the stop to break-even at the close
        (101.0, 101.5, 99.0, 99.5),   // back down through 100: the stop fills there
    ];
    let moved = Plan {
        bracket: (110.0, 95.0),
        cancel_at: None,
        amend: Some((2, None, Some(100.0))),
        slice: 0,
    };
    let events = run(&bars, moved, 0);
    assert_eq!(
        story(&events),
        [
            line(0, 0, "submitted market"),
            line(1, 0, "filled 10.00 at 100.00"),
            line(1, 1, "submitted limit"),
            line(1, 2, "submitted stop"),
            line(2, 2, "amended to 10.00"),
            line(3, 2, "filled 10.00 at 100.00"),
            line(3, 1, "cancelled 10.00"),
        ]
    );
    // A limit price on a stop order: refused, and the order keeps its stop.
    let wrong = Plan {
        bracket: (110.0, 95.0),
        cancel_at: None,
        amend: Some((2, Some(99.0), None)),
        slice: 0,
    };
    let events = run(&bars, wrong, 0);
    let told = story(&events);
    assert!(
        told.contains(&line(
            2,
            2,
            &format!("rejected {}", rules::INVALID_AMEND.id.0)
        )),
        "{told:?}"
    );
    // The stop stayed at 95, which the dip to 99 never reached: cancelled at the run's end.
    assert!(told.contains(&line(3, 2, "cancelled 10.00")), "{told:?}");
}

#[test]
fn portfolio_heat_counts_a_bracket_to_its_stop_loss() {
    let flat = [(100.0, 100.0, 100.0, 100.0); 3];
    let heat = |ppm| RiskLimits {
        max_heat_ppm: Some(ppm),
        ..RiskLimits::default()
    };
    // Buy 10 at 100 with the stop-loss at 95: 50 at risk of 10,000 equity, 0.5%.
    let plan = || Plan {
        bracket: (110.0, 95.0),
        cancel_at: None,
        amend: None,
        slice: 0,
    };
    let passes = run_with_risk(&flat, plan(), 0, heat(5_000));
    assert!(story(&passes).contains(&line(0, 0, "submitted market")));
    let refused = run_with_risk(&flat, plan(), 0, heat(4_999));
    assert_eq!(
        story(&refused),
        [line(
            0,
            0,
            &format!("rejected {}", rules::PORTFOLIO_HEAT.id.0)
        )]
    );
}
