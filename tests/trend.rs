//! The Dow-30 trend system, end to end on its built-in scenario: what its ledger must show
//! for the invariants that only a whole run exercises (exits at market, tiered limits on the
//! tick grid, orders tagged with their week, stale orders cancelled by week id, warm-up).

use std::collections::BTreeMap;

use tape_engine::event::{EventBody, OrderType};
use tape_engine::ledger::LedgerReader;
use tape_strategies::trend::{CACHED, COMPOSITE, EXIT, ORDER, STALE_WEEK, TARGET};
use tape_tests::{scratch, tape};

struct Run {
    events: Vec<tape_engine::event::Event>,
}

fn run_builtin() -> Run {
    let dir = scratch();
    tape(dir.path(), &["run", "dow30-trend", "--out", "t.tape"]).expect_code(0);
    let mut reader = LedgerReader::open(&dir.path().join("t.tape")).expect("opens");
    let mut events = Vec::new();
    while let Some(frame) = reader.next_event().expect("reads") {
        events.push(frame.decode().expect("decodes"));
    }
    Run { events }
}

#[test]
fn the_built_in_run_keeps_every_execution_invariant() {
    let run = run_builtin();
    let mut cycles: BTreeMap<u64, u32> = BTreeMap::new();
    let (mut limits, mut exits, mut stale) = (0, 0, 0);
    for e in &run.events {
        match &e.body {
            EventBody::OrderSubmitted(o) if o.reason.rule == EXIT.id => {
                exits += 1;
                assert_eq!(
                    o.order_type,
                    OrderType::Market,
                    "exits are market orders: {e:?}"
                );
            }
            EventBody::OrderSubmitted(o) if o.reason.rule == ORDER.id => {
                limits += 1;
                let v = o.reason.raw_values();
                let (tier, strength, week) = (v[0], f64::from_bits(v[1] as u64), v[2]);
                assert_eq!(o.order_type, OrderType::Limit);
                // On the 0.01 grid: raw prices are in units of 1e-8.
                let limit = o.limit_price.expect("a limit order has a limit");
                assert_eq!(limit.raw() % 1_000_000, 0, "{e:?}");
                let expected_tier = if strength.abs() >= 0.70 {
                    0
                } else if strength.abs() >= 0.30 {
                    1
                } else {
                    2
                };
                assert_eq!(tier, expected_tier, "{e:?}");
                assert_eq!(o.cycle.map(i64::from), Some(week), "tagged with its week");
            }
            EventBody::OrderSubmitted(o) => panic!("an order without the system's tag: {o:?}"),
            _ => {}
        }
        if let EventBody::OrderSubmitted(o) = &e.body {
            cycles.insert(o.order.0, o.cycle.expect("every order has a week id"));
        }
        if let EventBody::OrderCancelled(c) = &e.body {
            if c.reason.rule == STALE_WEEK.id {
                stale += 1;
                let week = c.reason.raw_values()[0] as u32;
                assert!(cycles[&c.order.0] < week, "only earlier weeks: {e:?}");
            }
        }
    }
    assert!(
        limits > 1_000 && exits > 50 && stale > 5,
        "{limits} {exits} {stale}"
    );
}

#[test]
fn signals_start_after_the_warm_up_and_are_recalculated_every_fifth_day() {
    let run = run_builtin();
    // Trading days by their time, in order.
    let mut days: Vec<i64> = run
        .events
        .iter()
        .filter(|e| matches!(e.body, EventBody::PortfolioSnapshot(_)))
        .map(|e| e.ts.0)
        .collect();
    days.dedup();
    let day_index: BTreeMap<i64, usize> = days.iter().enumerate().map(|(i, d)| (*d, i)).collect();
    let mut recalculated = std::collections::BTreeSet::new();
    let mut cached = std::collections::BTreeSet::new();
    for e in &run.events {
        if let EventBody::Signal(s) = &e.body {
            let d = day_index[&e.ts.0];
            assert!(d >= 251, "no signal before the 252nd bar: day {d}");
            if s.reason.rule == COMPOSITE.id {
                recalculated.insert(d);
            } else {
                assert_eq!(s.reason.rule, CACHED.id);
                cached.insert(d);
            }
        }
        if let EventBody::Target(t) = &e.body {
            assert_eq!(t.reason.rule, TARGET.id);
        }
    }
    assert!(
        recalculated.iter().all(|d| (d - 251) % 5 == 0),
        "{recalculated:?}"
    );
    assert!(cached.iter().all(|d| (d - 251) % 5 != 0));
    assert!(recalculated.len() > 90 && cached.len() > 300);
}
