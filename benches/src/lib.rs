//! Shared set-up for Tape's criterion benchmarks (`cargo bench -p tape-benches`).

use tape_replay::plan::RunPlan;
use tape_scenarios::{builtin, Scenario};

/// Bars per benchmark run: the figure `tape bench` and docs/performance.md quote.
pub const BARS: u64 = 1_000_000;

/// The built-in bench scenario (one instrument, one-minute bars, SMA 20/100) with `bars` bars.
pub fn bench_plan(bars: u64) -> RunPlan {
    let base = builtin::find("bench").expect("the bench scenario is built in");
    let mut scenario = Scenario::from_toml(base.toml, "bench").expect("the built-in is valid");
    scenario
        .gbm_mut()
        .expect("the bench scenario is synthetic")
        .bars = bars;
    RunPlan::from_scenario(scenario, "bench").expect("the built-in is valid")
}
