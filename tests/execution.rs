//! Execution settings end to end: a participation cap splits fills across bars, the ledger
//! records each part with what is left, and replay re-derives them byte for byte.

use tape_engine::event::EventBody;
use tape_engine::ledger::{FsyncPolicy, LedgerReader};
use tape_replay::drive::{replay_ledger, run_to_ledger, ReplayVerdict};
use tape_replay::plan::RunPlan;
use tape_scenarios::Scenario;
use tape_tests::{scratch, SMALL_SCENARIO};

#[test]
fn a_participation_cap_splits_fills_and_replays() {
    // The small scenario trades 100 units on bars of about a million: a cap of 0.003%
    // leaves about 30 units a bar.
    let text = SMALL_SCENARIO.replace(
        "[costs]",
        "[execution]\nmax_participation = 0.00003\n\n[costs]",
    );
    let scenario = Scenario::from_toml(&text, "capped").expect("valid");
    let plan = RunPlan::from_scenario(scenario, "capped").expect("valid");
    let dir = scratch();
    let path = dir.path().join("capped.tape");
    run_to_ledger(&plan, &path, FsyncPolicy::Never, false, &mut |_| {}).expect("runs");

    let mut reader = LedgerReader::open(&path).expect("opens");
    let mut bars = std::collections::BTreeMap::new();
    let mut partial = 0;
    while let Some(frame) = reader.next_event().expect("reads") {
        let event = frame.decode().expect("decodes");
        match event.body {
            EventBody::Bar(b) => {
                bars.insert(event.seq, b);
            }
            EventBody::OrderFilled(f) => {
                let bar = bars[&event.causes.as_slice()[1]];
                let cap = bar.volume.raw() as i128 * 30 / 1_000_000;
                assert!(
                    f.quantity.raw() as i128 <= cap,
                    "{f:?} over the cap of {bar:?}"
                );
                if !f.remaining.is_zero() {
                    partial += 1;
                }
            }
            _ => {}
        }
    }
    assert!(partial > 10, "fills carry remainders: {partial}");
    let verdict = replay_ledger(&path, &mut |_| {}).expect("replays");
    assert!(
        matches!(verdict, ReplayVerdict::Identical(_)),
        "{verdict:?}"
    );
}

#[test]
fn execution_settings_out_of_range_are_refused_by_name() {
    for (setting, key) in [
        ("max_participation = 1.5", "execution.max_participation"),
        ("tick_size = 0.0", "execution.tick_size"),
        ("lot_size = -1.0", "execution.lot_size"),
        ("slippage = 3", "slippage"),
    ] {
        let text = SMALL_SCENARIO.replace("[costs]", &format!("[execution]\n{setting}\n\n[costs]"));
        let err = Scenario::from_toml(&text, "bad.toml")
            .expect_err(setting)
            .to_string();
        assert!(err.contains(key), "{setting}: {err}");
    }
}

#[test]
fn cost_settings_out_of_range_are_refused_by_name() {
    for (setting, key) in [
        ("impact = -0.1", "costs.impact"),
        ("range_slippage = 20.0", "costs.range_slippage"),
        ("min_fee = -1.0", "costs.min_fee"),
        ("fee_per_unit = nan", "costs.fee_per_unit"),
        ("half_spread_bps = 20000", "costs.half_spread_bps"),
    ] {
        let text = SMALL_SCENARIO.replace("[costs]", &format!("[costs]\n{setting}"));
        let err = Scenario::from_toml(&text, "bad.toml")
            .expect_err(setting)
            .to_string();
        assert!(err.contains(key), "{setting}: {err}");
    }
}

#[test]
fn a_scenario_breaker_trips_and_resets_in_the_ledger_and_replays() {
    let text = SMALL_SCENARIO.replace(
        "[costs]",
        "[risk]\nbreaker_losses = 2\nbreaker_reset = \"after_slices\"\nbreaker_reset_slices = 10\n\n[costs]",
    );
    let dir = tape_tests::scratch();
    std::fs::write(dir.path().join("breaker.toml"), &text).expect("write");
    tape_tests::tape(dir.path(), &["run", "breaker.toml", "--out", "b.tape"]).expect_code(0);
    for kind in ["circuit_breaker_tripped", "circuit_breaker_reset"] {
        let shown = tape_tests::tape(dir.path(), &["show", "b.tape", "--kind", kind]);
        shown.expect_code(0);
        assert!(
            shown.stdout.lines().count() >= 1,
            "no {kind}:\n{}",
            shown.stdout
        );
    }
    let shown = tape_tests::tape(dir.path(), &["show", "b.tape", "--kind", "order_rejected"]);
    assert!(shown.stdout.contains("breaker_tripped"), "{}", shown.stdout);
    tape_tests::tape(dir.path(), &["replay", "b.tape"]).expect_code(0);
}

#[test]
fn risk_settings_out_of_range_are_refused_by_name() {
    for (setting, key) in [
        ("breaker_drawdown = 1.5", "risk.breaker_drawdown"),
        ("max_open_positions = 0", "risk.max_open_positions"),
        (
            "breaker_reset = \"after_slices\"",
            "risk.breaker_reset_slices",
        ),
        ("breaker_reset_slices = 3", "risk.breaker_reset_slices"),
        ("max_leverage = 2.0", "max_leverage"),
    ] {
        let text = SMALL_SCENARIO.replace("[costs]", &format!("[risk]\n{setting}\n\n[costs]"));
        let err = Scenario::from_toml(&text, "bad.toml")
            .expect_err(setting)
            .to_string();
        assert!(err.contains(key), "{setting}: {err}");
    }
}

#[test]
fn latency_in_bars_moves_every_fill_one_bar_later_and_replays() {
    let fill_gaps = |text: &str| -> Vec<i64> {
        let scenario = Scenario::from_toml(text, "latency").expect("valid");
        let plan = RunPlan::from_scenario(scenario, "latency").expect("valid");
        let dir = scratch();
        let path = dir.path().join("l.tape");
        run_to_ledger(&plan, &path, FsyncPolicy::Never, false, &mut |_| {}).expect("runs");
        let verdict = replay_ledger(&path, &mut |_| {}).expect("replays");
        assert!(
            matches!(verdict, ReplayVerdict::Identical(_)),
            "{verdict:?}"
        );
        let mut reader = LedgerReader::open(&path).expect("opens");
        let mut events = Vec::new();
        while let Some(frame) = reader.next_event().expect("reads") {
            events.push(frame.decode().expect("decodes"));
        }
        // Per fill: how many bars of its symbol closed after the decision, up to the fill's.
        events
            .iter()
            .filter_map(|e| match &e.body {
                EventBody::OrderFilled(f) => {
                    let submitted = &events[e.causes.as_slice()[0].0 as usize];
                    let bars = events
                        .iter()
                        .filter(|b| {
                            matches!(&b.body, EventBody::Bar(bar) if bar.symbol == f.symbol)
                                && b.ts > submitted.ts
                                && b.ts <= e.ts
                        })
                        .count();
                    Some(bars as i64)
                }
                _ => None,
            })
            .collect()
    };
    let plain = fill_gaps(SMALL_SCENARIO);
    assert!(
        !plain.is_empty() && plain.iter().all(|&n| n == 1),
        "{plain:?}"
    );
    let late =
        fill_gaps(&SMALL_SCENARIO.replace("[costs]", "[execution]\nlatency_bars = 1\n\n[costs]"));
    assert!(!late.is_empty() && late.iter().all(|&n| n == 2), "{late:?}");
}

#[test]
fn the_crash_builtin_trips_and_resets_its_breaker_with_brackets_and_trailing_stops() {
    let dir = scratch();
    tape_tests::tape(dir.path(), &["run", "crash", "--out", "c.tape"]).expect_code(0);
    let count = |kind: &str| {
        let shown = tape_tests::tape(dir.path(), &["show", "c.tape", "--kind", kind]);
        shown.expect_code(0);
        shown.stdout.lines().count()
    };
    assert!(count("circuit_breaker_tripped") >= 2, "the breaker trips");
    assert!(count("circuit_breaker_reset") >= 2, "and resets");
    let shown = tape_tests::tape(dir.path(), &["show", "c.tape", "--kind", "order_submitted"]);
    for needle in [
        "order_type=trailing_stop",
        "reason=bracket_exit",
        "reason=risk_per_stop",
    ] {
        assert!(shown.stdout.contains(needle), "no {needle}");
    }
    let amended = tape_tests::tape(
        dir.path(),
        &["show", "c.tape", "--kind", "order_amended", "--json"],
    );
    // Every trailing stop (all sell stops here) only ever moves up.
    let mut last: std::collections::BTreeMap<u64, f64> = Default::default();
    let mut moves = 0;
    for line in amended.stdout.lines() {
        let e: serde_json::Value = serde_json::from_str(line).expect("JSON");
        if e["reason"]["rule"] != "trailing_stop_moved" {
            continue;
        }
        moves += 1;
        let order = e["order"].as_u64().expect("order");
        let stop = e["stop_price"].as_f64().expect("stop");
        if let Some(before) = last.insert(order, stop) {
            assert!(
                stop > before,
                "order {order}'s stop loosened: {before} -> {stop}"
            );
        }
    }
    assert!(moves > 50, "trailing stops moved: {moves}");
    let rejected = tape_tests::tape(dir.path(), &["show", "c.tape", "--kind", "order_rejected"]);
    assert!(
        rejected.stdout.contains("breaker_tripped"),
        "entries refused while tripped"
    );
    tape_tests::tape(dir.path(), &["replay", "c.tape"]).expect_code(0);
}

#[test]
fn instrument_tables_apply_to_their_symbols_and_unknown_symbols_are_refused() {
    let text = SMALL_SCENARIO.replace(
        "[strategy]",
        "[[instruments]]\nsymbols = [\"SYN0\"]\nmin_notional = 1000000.0\n\n[strategy]",
    );
    let dir = scratch();
    std::fs::write(dir.path().join("i.toml"), &text).expect("write");
    tape_tests::tape(dir.path(), &["run", "i.toml", "--out", "i.tape"]).expect_code(0);
    let rejected = tape_tests::tape(dir.path(), &["show", "i.tape", "--kind", "order_rejected"]);
    let small: Vec<&str> = rejected
        .stdout
        .lines()
        .filter(|l| l.contains("min_notional"))
        .collect();
    assert!(!small.is_empty(), "{}", rejected.stdout);
    assert!(
        small.iter().all(|l| l.contains(" SYN0 ")),
        "only SYN0 has the rule"
    );

    std::fs::write(
        dir.path().join("bad.toml"),
        text.replace("\"SYN0\"", "\"SYN9\""),
    )
    .expect("write");
    let run = tape_tests::tape(dir.path(), &["run", "bad.toml", "--out", "b.tape"]);
    run.expect_code(2);
    assert!(
        run.stderr.contains("'SYN9'") && run.stderr.contains("SYN0, SYN1, SYN2"),
        "{}",
        run.stderr
    );
}

#[test]
fn account_settings_out_of_range_are_refused_by_name() {
    for key in ["initial_margin", "maintenance_margin", "borrow_fee"] {
        for bad in ["0.0", "-0.5", "nan"] {
            let text =
                SMALL_SCENARIO.replace("cash = 9000.0", &format!("cash = 9000.0\n{key} = {bad}"));
            let err = Scenario::from_toml(&text, "bad.toml")
                .expect_err(bad)
                .to_string();
            assert!(
                err.contains(&format!("account.{key}")),
                "{key} = {bad}: {err}"
            );
        }
    }
    let ok = SMALL_SCENARIO.replace(
        "cash = 9000.0",
        "cash = 9000.0\ninitial_margin = 0.5\nmaintenance_margin = 0.25\nborrow_fee = 0.03",
    );
    Scenario::from_toml(&ok, "ok.toml").expect("a margin account");
}

#[test]
fn the_run_summary_totals_fees_and_slippage_of_every_fill() {
    let dir = scratch();
    std::fs::write(dir.path().join("s.toml"), SMALL_SCENARIO).expect("write");
    let run = tape_tests::tape(dir.path(), &["run", "s.toml", "--out", "s.tape", "--json"]);
    run.expect_code(0);
    let summary = run.json();
    let fills = tape_tests::tape(dir.path(), &["show", "s.tape", "--kind", "fill", "--json"]);
    let (mut fees, mut slippage) = (0.0, 0.0);
    for line in fills.stdout.lines() {
        let f: serde_json::Value = serde_json::from_str(line).expect("JSON");
        fees += f["fee"].as_f64().expect("fee");
        slippage += f["slippage"].as_f64().expect("slippage");
    }
    assert!(fees > 0.0);
    assert!(
        (summary["fees"].as_f64().expect("fees") - fees).abs() < 1e-6,
        "{summary}"
    );
    assert!((summary["slippage"].as_f64().expect("slippage") - slippage).abs() < 1e-6);
}
