//! The look-ahead fuzzer catches both kinds of leak and passes the shipped strategy.

use tape_engine::sequencer::TimedBar;
use tape_engine::time::Ts;
use tape_replay::drive::BarSource;
use tape_replay::fuzz::{fuzz, plan_factory};
use tape_replay::plan::RunPlan;
use tape_scenarios::Scenario;
use tape_tests::leaky::PeekingStrategy;
use tape_tests::{scratch, tape, SMALL_SCENARIO};

fn small_plan(text: &str) -> RunPlan {
    let scenario = Scenario::from_toml(text, "small").expect("valid");
    RunPlan::from_scenario(scenario, "small").expect("valid")
}

#[test]
fn the_shipped_strategy_passes_200_cuts() {
    let plan = small_plan(SMALL_SCENARIO);
    let report = fuzz(&plan, &plan_factory, 200, 1, &mut |_| {}).expect("runs");
    assert!(report.passed(), "{report:?}");
    assert_eq!(report.cuts, 200);
    assert!(report.fills_checked > 5);
}

#[test]
fn a_strategy_reading_tomorrows_close_is_caught_with_its_causal_chain() {
    let plan = small_plan(SMALL_SCENARIO);
    let leaky = |plan: &RunPlan, future: Option<(Ts, [u8; 32])>| {
        let market = plan.synthetic_market().expect("synthetic");
        let market: Vec<TimedBar> = match future {
            Some((cut, seed)) => market
                .with_future_after(cut, seed)
                .map(|r| r.expect("infallible"))
                .collect(),
            None => market.map(|r| r.expect("infallible")).collect(),
        };
        let strategy = PeekingStrategy::new(&market, plan.header.symbols.len());
        let source: BarSource = Box::new(market.into_iter().map(|b| Ok(b.into())));
        (plan.core_with_strategy(Box::new(strategy)), source)
    };
    let report = fuzz(&plan, &leaky, 50, 1, &mut |_| {}).expect("runs");
    let leak = report.first_leak.expect("the peeking strategy leaks");
    assert!(
        report.leaking_cuts > 25,
        "most cuts catch it: {} of 50",
        report.leaking_cuts
    );
    let other = leak
        .other
        .as_ref()
        .or(leak.original.as_ref())
        .expect("an event differs");
    assert!(
        other.ts <= leak.cut,
        "the differing event was known by the cut"
    );
    assert!(!leak.chain.is_empty());
}

#[test]
fn filling_on_the_decision_bar_is_flagged_and_the_cli_exits_1() {
    let text = SMALL_SCENARIO.replace(
        "[strategy]",
        "[execution]\nfill = \"same_bar_close\"\n\n[strategy]",
    );
    let plan = small_plan(&text);
    let report = fuzz(&plan, &plan_factory, 20, 1, &mut |_| {}).expect("runs");
    let flagged = report.same_bar_fill.expect("same-bar fills are flagged");
    assert_eq!(flagged.fill.ts, flagged.order.ts);

    let dir = scratch();
    std::fs::write(dir.path().join("leak.toml"), &text).expect("written");
    let run = tape(dir.path(), &["fuzz", "leak.toml", "--cuts", "10"]);
    run.expect_code(1);
    assert!(run.stdout.contains("LOOK-AHEAD FILL"), "{}", run.stdout);
    let ok = tape(dir.path(), &["fuzz", "default", "--cuts", "3", "--json"]);
    assert_eq!(ok.expect_code(0).json()["ok"], true);
}
