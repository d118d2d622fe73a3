//! Cross-crate invariants from ARCHITECTURE.md that no single crate can check alone.

use std::collections::BTreeMap;

use tape_engine::event::{Event, EventBody};
use tape_engine::ledger::{FsyncPolicy, LedgerReader};
use tape_engine::time::Ts;
use tape_replay::drive::run_to_ledger;
use tape_replay::plan::RunPlan;
use tape_tests::{scratch, workspace_root, SMALL_SCENARIO};

fn events(path: &std::path::Path) -> Vec<Event> {
    let mut reader = LedgerReader::open(path).expect("ledger opens");
    let mut out = Vec::new();
    while let Some(frame) = reader.next_event().expect("ledger reads") {
        out.push(frame.decode().expect("event decodes"));
    }
    out
}

fn small_plan() -> RunPlan {
    let scenario = tape_scenarios::Scenario::from_toml(SMALL_SCENARIO, "small").expect("valid");
    RunPlan::from_scenario(scenario, "small").expect("valid")
}

/// No look-ahead, the prefix property: cut the market at time c and give it a differently
/// seeded future; every event known at or before c must be byte-identical to the original
/// run's. (The full fuzzer with many cuts and a minimal counterexample is `tape fuzz`.)
#[test]
fn events_up_to_a_cut_do_not_depend_on_the_future() {
    let dir = scratch();
    let base_path = dir.path().join("base.tape");
    let base_plan = small_plan();
    run_to_ledger(
        &base_plan,
        &base_path,
        FsyncPolicy::Never,
        false,
        &mut |_| {},
    )
    .expect("base run");
    let base = events(&base_path);
    let bar_times: Vec<Ts> = base
        .iter()
        .filter(|e| matches!(e.body, EventBody::Bar(_)))
        .map(|e| e.ts)
        .collect();
    for (i, cut_index) in [25usize, 110, 200, 333, 470].into_iter().enumerate() {
        let cut = bar_times[cut_index];
        let path = dir.path().join(format!("cut{i}.tape"));
        let plan = small_plan().with_future_after(cut, 1_000 + i as u64);
        run_to_ledger(&plan, &path, FsyncPolicy::Never, false, &mut |_| {}).expect("forked run");
        let forked = events(&path);
        let known = |evs: &[Event]| {
            evs.iter()
                .filter(|e| e.ts <= cut)
                .cloned()
                .collect::<Vec<_>>()
        };
        let (a, b) = (known(&base), known(&forked));
        assert_eq!(
            a.len(),
            b.len(),
            "cut at {cut}: a different number of events known by the cut"
        );
        for (x, y) in a.iter().zip(&b) {
            assert_eq!(
                x, y,
                "cut at {cut}: event {} differs although it was known by the cut",
                x.seq.0
            );
        }
        assert_ne!(
            base.last(),
            forked.last(),
            "cut at {cut}: the future really was different"
        );
    }
}

/// An order decided on bar t fills no earlier than the next bar of that symbol.
#[test]
fn no_fill_precedes_the_bar_after_its_decision() {
    let dir = scratch();
    let path = dir.path().join("default.tape");
    let plan = RunPlan::load("default", None).expect("built-in");
    run_to_ledger(&plan, &path, FsyncPolicy::Never, false, &mut |_| {}).expect("run");
    let mut submitted_at = BTreeMap::new();
    let mut fills = 0;
    for e in events(&path) {
        match &e.body {
            EventBody::OrderSubmitted(o) => {
                submitted_at.insert(o.order, e.ts);
            }
            EventBody::OrderFilled(f) => {
                let decided = submitted_at[&f.order];
                assert!(
                    e.ts > decided,
                    "order {:?} decided at {decided} filled at {}",
                    f.order,
                    e.ts
                );
                fills += 1;
            }
            _ => {}
        }
    }
    assert!(fills > 100, "the default run trades ({fills} fills)");
}

/// Determinism rule 3: no `HashMap`/`HashSet` in the core crates, where iteration order could
/// leak into output. (A fixed-hasher map would be allowed; none is needed yet.)
#[test]
fn core_crates_use_no_hash_maps() {
    let mut offenders = Vec::new();
    for krate in ["engine/src", "strategies/src", "scenarios/src"] {
        let mut stack = vec![workspace_root().join(krate)];
        while let Some(dir) = stack.pop() {
            for entry in std::fs::read_dir(&dir).expect("source directory") {
                let path = entry.expect("entry").path();
                if path.is_dir() {
                    stack.push(path);
                } else if path.extension().is_some_and(|e| e == "rs") {
                    let text = std::fs::read_to_string(&path).expect("source file");
                    for (n, line) in text.lines().enumerate() {
                        if (line.contains("HashMap") || line.contains("HashSet"))
                            && !line.trim_start().starts_with("//")
                        {
                            offenders.push(format!("{}:{}", path.display(), n + 1));
                        }
                    }
                }
            }
        }
    }
    assert!(
        offenders.is_empty(),
        "hash maps in core crates (use BTreeMap or dense vectors): {offenders:?}"
    );
}

/// The canonical configuration in the header re-creates the run: replay needs nothing else.
#[test]
fn the_header_alone_rebuilds_the_run() {
    let dir = scratch();
    let path = dir.path().join("small.tape");
    run_to_ledger(&small_plan(), &path, FsyncPolicy::Never, false, &mut |_| {}).expect("run");
    let header = LedgerReader::open(&path).expect("opens").header().clone();
    let plan = RunPlan::from_header(&header).expect("the recorded configuration is complete");
    assert_eq!(plan.header, header);
    assert!(workspace_root().join("tests/golden/small.toml").exists());
}
